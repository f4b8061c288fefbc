"""Where the classifier keeps its models: the versioned registry on disk."""
