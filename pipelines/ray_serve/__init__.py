"""Serving a model version as a Ray Serve application (``deploy: {kind: ray-serve}``).

``pipelines.ray_serve.replica`` runs on the cluster and imports nothing of the App's; the App side is
``names`` (what the application is called and where it answers), ``cluster`` (Serve's REST API) and
``deployer`` (``RayServeDeployer``). Nothing is imported here: a replica imports this package too.
"""
