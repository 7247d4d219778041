"""batch_tasks_async: an asyncio-native SDK for the Azure Batch Task REST API."""

from __future__ import annotations

__version__ = "0.1.0"
