"""Generations keep the model's own answer where the backend said another (the honest form).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 00:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('generations', sa.Column('model_answer', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('generations') as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column('model_answer')
