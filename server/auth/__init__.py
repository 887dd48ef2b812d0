"""Authenticators shipped with keel, each a `langgraph_sdk.Auth` that langgraph.json names in one line:
`server.auth.api_keys:auth` (API keys from KEEL_API_KEYS) and `server.auth.jwt_bearer:auth` (JWT/OIDC bearer tokens).
"""
