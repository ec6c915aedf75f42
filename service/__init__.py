"""The FastAPI forecast service (POST /forecast); see DESIGN.md."""
