"""The local OpenAI-compatible server (``frugal edge serve``).

Imported only when the command runs: ``import frugalstack.edge`` never pulls in fastapi.
"""
