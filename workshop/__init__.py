"""The kit's own tooling: build app/ from the lessons, prepare workspaces, check stages."""
