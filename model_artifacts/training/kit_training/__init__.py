"""The kit's fine-tuning script for the Hugging Face Neuron training image (optimum-neuron 0.4.1).

Modules: ``args`` (hyperparameters and SageMaker paths), ``data`` (JSON Lines channels to training text),
``metrics`` (the log lines the job's metric definitions scrape), ``outputs`` (the model directory layout) and
``neuron`` (the only module that imports torch, torch_xla and optimum-neuron, inside its functions). Everything but
``neuron`` runs on a plain CPU with the standard library (``data`` takes a tokenizer object), so it is tested without
the image. See ../README.md.
"""
