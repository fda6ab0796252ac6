"""translation: glossary terms; transcript indexes for line updates

Revision ID: 0002_translation
Revises: 0001
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_translation"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "glossary_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=10), nullable=True),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("rendering", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_glossary_terms_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary_terms")),
    )
    op.create_index(
        op.f("ix_glossary_terms_case_id"), "glossary_terms", ["case_id"], unique=False
    )
    op.create_index(
        "ix_transcript_lines_session_ref",
        "transcript_lines",
        ["session_id", "ref_seq"],
        unique=False,
    )
    op.create_index(
        "ix_transcript_lines_session_kind",
        "transcript_lines",
        ["session_id", "kind"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_transcript_lines_session_kind", table_name="transcript_lines")
    op.drop_index("ix_transcript_lines_session_ref", table_name="transcript_lines")
    op.drop_index(op.f("ix_glossary_terms_case_id"), table_name="glossary_terms")
    op.drop_table("glossary_terms")
