"""Item pipelines, one job each: validate -> merge -> store (see settings.ITEM_PIPELINES)."""
