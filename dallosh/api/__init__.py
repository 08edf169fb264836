"""The dallosh API service: the service layer, dataset files and task events over HTTP (see ``app``).

Run by JupyterHub as a managed service (``hub/config.py``); kernels reach it with ``dallosh.client``.
"""
