"""Deleting everything one client sent: for the user who asks (DELETE /api/v1/my-data) and the operator (drop-client).

One function, so that what "everything" means cannot differ between the two:
the client's generations, the images no other client sent, its feedback, and
every preference pair built from either.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.models import Client, Feedback, Generation, Image, PreferencePair


def erase_client_data(session: Session, client: Client, keep_client: bool) -> dict[str, int]:
    """Delete what ``client`` sent (and, unless ``keep_client``, the client and so its token); commits."""
    generation_ids = select(Generation.id).where(Generation.client_id == client.id)
    image_ids = set(session.scalars(select(Generation.image_id).where(Generation.client_id == client.id)))
    counts = {
        "pairs": session.execute(delete(PreferencePair).where(
            (PreferencePair.client_id == client.id) | PreferencePair.generation_id.in_(generation_ids))).rowcount,
        "feedback": session.execute(delete(Feedback).where(
            (Feedback.client_id == client.id) | Feedback.generation_id.in_(generation_ids))).rowcount,
        "generations": session.execute(delete(Generation).where(Generation.client_id == client.id)).rowcount,
    }
    orphans = [i for i in image_ids if not session.scalar(
        select(func.count()).select_from(Generation).where(Generation.image_id == i))]
    counts["images"] = session.execute(delete(Image).where(Image.id.in_(orphans))).rowcount if orphans else 0
    if not keep_client:
        session.delete(client)
    session.commit()
    return counts
