"""Feature store, cloud side: offline store tables, point-in-time joins, transformations, materialization."""
