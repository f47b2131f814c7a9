"""The routes layer: recommended crews' drives to the selected job, with their ETAs."""
