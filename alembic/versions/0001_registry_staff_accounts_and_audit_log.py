"""registry, staff accounts and audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-29 21:06:13.282046
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from supervision.core.audit import APPEND_ONLY_SQL, append_only_trigger_sql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("entity_key", sa.Text(), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_entity_key"), "audit_log", ["entity_key"], unique=False)
    op.create_table(
        "institution",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("uscc", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("nature", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("district", sa.Text(), nullable=False),
        sa.Column("grid", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("has_escrow", sa.Boolean(), nullable=False),
        sa.Column("escrow_mode", sa.Text(), nullable=True),
        sa.Column("escrow_bank", sa.Text(), nullable=True),
        sa.Column("escrow_account_last4", sa.Text(), nullable=True),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("search_grams", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("doc_sha256", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "escrow_mode IS NULL OR escrow_mode IN ('bank_custody','risk_reserve')",
            name=op.f("ck_institution_escrow_mode"),
        ),
        sa.CheckConstraint("nature IN ('non_profit','for_profit')", name=op.f("ck_institution_nature")),
        sa.CheckConstraint(
            "status IN ('operating','suspended','closed')", name=op.f("ck_institution_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution")),
        sa.UniqueConstraint("uscc", name=op.f("uq_institution_uscc")),
    )
    op.create_index(op.f("ix_institution_grid"), "institution", ["grid"], unique=False)
    op.create_index(
        "ix_institution_search_grams", "institution", ["search_grams"], unique=False, postgresql_using="gin"
    )
    op.create_table(
        "staff_user",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('officer','admin')", name=op.f("ck_staff_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_user_username")),
    )
    op.create_table(
        "course",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("stages", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("class_size_max", sa.Integer(), nullable=False),
        sa.Column("lesson_minutes", sa.Integer(), nullable=False),
        sa.Column("price_per_lesson_fen", sa.BigInteger(), nullable=False),
        sa.Column("teacher_codes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_course_institution_id_institution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course")),
        sa.UniqueConstraint("institution_id", "code", name=op.f("uq_course_institution_id_code")),
    )
    op.create_table(
        "licence",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("first_approved_on", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("scope_categories", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("scope_stages", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("scope_modes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.CheckConstraint("status IN ('valid','suspended','revoked')", name=op.f("ck_licence_status")),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_licence_institution_id_institution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence")),
        sa.UniqueConstraint("institution_id", name=op.f("uq_licence_institution_id")),
    )
    op.create_index(op.f("ix_licence_number"), "licence", ["number"], unique=False)
    op.create_table(
        "premises",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("area_m2", sa.Numeric(), nullable=False),
        sa.Column("max_concurrent_students", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_premises_institution_id_institution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premises")),
        sa.UniqueConstraint("institution_id", "code", name=op.f("uq_premises_institution_id_code")),
    )
    op.create_table(
        "staff_session",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("token_sha256", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
            name=op.f("fk_staff_session_user_id_staff_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_staff_session_token_sha256")),
    )
    op.create_index(op.f("ix_staff_session_user_id"), "staff_session", ["user_id"], unique=False)
    op.create_table(
        "teacher",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("has_teacher_certificate", sa.Boolean(), nullable=False),
        sa.Column("serving_school_teacher", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_teacher_institution_id_institution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teacher")),
        sa.UniqueConstraint("institution_id", "code", name=op.f("uq_teacher_institution_id_code")),
    )
    op.create_table(
        "course_session",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_course_session_course_id_course"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_session")),
    )
    op.create_index(op.f("ix_course_session_course_id"), "course_session", ["course_id"], unique=False)
    op.create_table(
        "course_slot",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_course_slot_course_id_course"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_slot")),
    )
    op.create_index(op.f("ix_course_slot_course_id"), "course_slot", ["course_id"], unique=False)
    op.create_table(
        "prepaid_package",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("lessons", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_prepaid_package_course_id_course"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prepaid_package")),
    )
    op.create_index(op.f("ix_prepaid_package_course_id"), "prepaid_package", ["course_id"], unique=False)
    op.execute(APPEND_ONLY_SQL)
    for stmt in append_only_trigger_sql("audit_log"):
        op.execute(stmt)


def downgrade() -> None:
    op.drop_index(op.f("ix_prepaid_package_course_id"), table_name="prepaid_package")
    op.drop_table("prepaid_package")
    op.drop_index(op.f("ix_course_slot_course_id"), table_name="course_slot")
    op.drop_table("course_slot")
    op.drop_index(op.f("ix_course_session_course_id"), table_name="course_session")
    op.drop_table("course_session")
    op.drop_table("teacher")
    op.drop_index(op.f("ix_staff_session_user_id"), table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_table("premises")
    op.drop_index(op.f("ix_licence_number"), table_name="licence")
    op.drop_table("licence")
    op.drop_table("course")
    op.drop_table("staff_user")
    op.drop_index("ix_institution_search_grams", table_name="institution", postgresql_using="gin")
    op.drop_index(op.f("ix_institution_grid"), table_name="institution")
    op.drop_table("institution")
    op.drop_index(op.f("ix_audit_log_entity_key"), table_name="audit_log")
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION IF EXISTS refuse_change()")
