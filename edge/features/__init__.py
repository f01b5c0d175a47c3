"""Feature store, device side: definitions shared with the cloud, the online store and local features.

``get_online_features(entities, ["view:feature", ...], store=...)`` is the one read path for the router
and the RAG ranking. Importing this package pulls in no cloud code.
"""

from frugalstack.edge.features.definitions import STANDARD, Entity, Feature, FeatureView, Repo, Source
from frugalstack.edge.features.online import OnlineFeatures, OnlineStore, get_online_features

__all__ = [
    "STANDARD",
    "Entity",
    "Feature",
    "FeatureView",
    "OnlineFeatures",
    "OnlineStore",
    "Repo",
    "Source",
    "get_online_features",
]
