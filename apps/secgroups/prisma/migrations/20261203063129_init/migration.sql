-- CreateTable
CREATE TABLE "projection_checkpoints" (
    "name" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "projection_checkpoints_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "parked_events" (
    "projection" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "subject" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "schema_version" INTEGER NOT NULL,
    "error" TEXT NOT NULL,
    "parked_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "parked_events_pkey" PRIMARY KEY ("projection","sequence")
);

-- CreateTable
CREATE TABLE "security_groups" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "stateful" BOOLEAN NOT NULL,
    "is_default" BOOLEAN NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "security_groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "security_group_rules" (
    "id" TEXT NOT NULL,
    "security_group_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "ethertype" TEXT NOT NULL,
    "protocol" TEXT,
    "port_range_min" INTEGER,
    "port_range_max" INTEGER,
    "remote_ip_prefix" TEXT,
    "remote_group_id" TEXT,
    "description" TEXT NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "security_group_rules_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "security_groups_project_id_idx" ON "security_groups"("project_id");

-- CreateIndex
CREATE INDEX "security_group_rules_security_group_id_idx" ON "security_group_rules"("security_group_id");

-- CreateIndex
CREATE INDEX "security_group_rules_project_id_idx" ON "security_group_rules"("project_id");

-- CreateIndex
CREATE INDEX "security_group_rules_remote_group_id_idx" ON "security_group_rules"("remote_group_id");
