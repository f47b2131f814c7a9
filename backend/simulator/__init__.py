"""The live city simulator: drives crews, sensors and citizens through the command API."""
