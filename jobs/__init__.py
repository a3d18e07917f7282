"""Code the kit runs in SageMaker jobs (not in Lambda): each package is staged with its pinned libraries."""
