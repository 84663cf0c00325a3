"""The class hub: JupyterHub with nbgrader's exchange for the course (`python -m grader hub`)."""
