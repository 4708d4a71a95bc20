"""Building the int8 pose models from the pinned float ones (`hingewatch models quantize`).

Only the build needs ai-edge-quantizer (`pip install 'hingewatch[quantize]'`); running a
built model needs the runtime alone.
"""
