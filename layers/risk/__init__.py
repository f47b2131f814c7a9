"""The risk layer: each scored asset coloured by its probability of failing in the next 30 days."""
