"""An app laid out as LangGraph's docs lay one out: a package beside langgraph.json (`dependencies: ["."]`)."""
