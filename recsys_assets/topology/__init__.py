"""The production topology on one machine: every piece the Helm chart deploys, as its own process.

`processes` starts and stops servers by PID and gives each one its own empty, read-only home; `emulators` and
`postgres` start the stores (Cosmos DB and Blob emulators, PostgreSQL); `stack` starts the whole deployment
(`make prod-local`, tests/deploy/test_topology.py). Nothing here is imported by the code location or the API.
"""
