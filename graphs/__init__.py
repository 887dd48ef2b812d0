"""keel's graphs: each module's `build()` returns an uncompiled StateGraph composed from nodes/.
`langgraph.json` is the registry: keel serve, the LangGraph CLI and the tests all read it."""
