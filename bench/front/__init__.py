"""Front section of the bench (issue 8): connection model, slow clients, drain, kill, swap."""
