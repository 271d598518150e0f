"""Export: training checkpoints → self-describing release folders."""
