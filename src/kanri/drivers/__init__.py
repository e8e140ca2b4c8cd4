"""The only code that speaks to hardware.

One small interface per capability (``base``); implementations are registered under the
entry-point groups ``kanri.drivers.<capability>`` and loaded by name (``registry``).
"""
