"""The trained network serving itself: an MLflow pyfunc model on raw images (``pyfunc``, ``segmenter``),
the network as a torch.export program with dynamic height and width (``network``), ONNX (``onnx``)."""
