"""telegram front: chats and subscriptions, users, claims, escalation timer, digest

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_CASE_TIMES = ('stage_at', 'urgent_since', 'claimed_at', 'reannounced_at', 'closed_at')


def upgrade() -> None:
    op.create_table(
        'chat',
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('inactive_reason', sa.Text(), nullable=True),
        sa.Column('migrated_to', sa.BigInteger(), nullable=True),
        sa.Column('subscribed', sa.Boolean(), nullable=False),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('muted_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('user_id', sa.BigInteger(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('chat_id'))
    op.create_table(
        'tg_user',
        sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('user_id'))
    with op.batch_alter_table('tg_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tg_user_username'), ['username'], unique=False)
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        for name in _CASE_TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('digest_pending', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('closed_by_id', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
    # Existing cases: their stage dates from their last update.
    op.execute("UPDATE case_file SET stage_at = updated, "
               "urgent_since = CASE WHEN urgent THEN updated END")


def downgrade() -> None:
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('user_id')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('digest_pending')
        for name in reversed(_CASE_TIMES):
            batch_op.drop_column(name)
    with op.batch_alter_table('tg_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tg_user_username'))
    op.drop_table('tg_user')
    op.drop_table('chat')
