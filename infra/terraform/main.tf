# Optional AWS side of the archive: the S3 mirror bucket (Object Lock), the Glue table Athena
# queries (partition projection, same as `npm run athena -- ddl`), an Athena workgroup, and
# least-privilege policies for the mirror writer (the Worker's S3 credentials) and analysts.
# Retention values come from `npm run athena -- retention-rules` (retention.config.json).

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

variable "bucket" { type = string }
variable "prefix" {
  type    = string
  default = ""
}
variable "database" {
  type    = string
  default = "audit_log"
}
variable "object_lock_mode" {
  type    = string
  default = "COMPLIANCE"
}
variable "object_lock_days" { type = number }
variable "archive_expiration_days" { type = number }
# Each retention class's longest period over all tenants (retention-rules: retention_class_days).
variable "retention_class_days" {
  type    = map(number)
  default = {}
}
variable "athena_results_days" {
  type    = number
  default = 30
}
variable "projection_start" {
  type    = string
  default = "2020-01-01"
}

locals {
  base    = var.prefix == "" ? "" : "${var.prefix}/"
  root    = "${local.base}events/"
  results = "${var.bucket}-athena-results"
}

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "mirror" {
  bucket              = var.bucket
  object_lock_enabled = true
}

resource "aws_s3_bucket_versioning" "mirror" {
  bucket = aws_s3_bucket.mirror.id
  versioning_configuration { status = "Enabled" }
}

resource "aws_s3_bucket_object_lock_configuration" "mirror" {
  bucket = aws_s3_bucket.mirror.id
  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_days
    }
  }
}

# Both buckets are private.
resource "aws_s3_bucket_public_access_block" "private" {
  for_each                = { mirror = aws_s3_bucket.mirror.id, results = aws_s3_bucket.results.id }
  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "mirror" {
  bucket = aws_s3_bucket.mirror.id
  rule {
    apply_server_side_encryption_by_default { sse_algorithm = "AES256" }
  }
}

# Events objects hold one retention class each and are PUT with their own Object Lock
# retain-until (the end of their class's period) and a retention-class tag; tombstones,
# checkpoints and manifests take the bucket default, object_lock_days (docs/retention.md).
resource "aws_s3_bucket_lifecycle_configuration" "mirror" {
  bucket = aws_s3_bucket.mirror.id
  # Backstop: everything expires after the archive's retention, which outlives every class.
  # A version deleted earlier (class expiry, compaction) is removed a day after it stops being
  # current, which S3 does only once its lock has ended.
  dynamic "rule" {
    for_each = {
      "archive-expiry"    = local.root
      "checkpoint-expiry" = "${local.base}checkpoints/"
      "manifest-expiry"   = "${local.base}manifests/"
    }
    content {
      id     = rule.key
      status = "Enabled"
      filter { prefix = rule.value }
      expiration { days = var.archive_expiration_days }
      noncurrent_version_expiration { noncurrent_days = rule.key == "archive-expiry" ? 1 : var.object_lock_days }
    }
  }
  # Backstop per class: the scheduled class expiry deletes a class's objects the day its period
  # ends; this removes any it missed a day later.
  dynamic "rule" {
    for_each = var.retention_class_days
    content {
      id     = "class-${rule.key}"
      status = "Enabled"
      filter {
        and {
          prefix = local.root
          tags   = { "retention-class" = rule.key }
        }
      }
      expiration { days = rule.value + 1 }
      noncurrent_version_expiration { noncurrent_days = 1 }
    }
  }
  rule {
    id     = "expired-delete-markers"
    status = "Enabled"
    filter { prefix = local.root }
    expiration { expired_object_delete_marker = true }
  }
}

# Query results live in their own bucket: the mirror's default Object Lock would otherwise keep
# every result file for the archive's whole retention period.
resource "aws_s3_bucket" "results" {
  bucket = local.results
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket = aws_s3_bucket.results.id
  rule {
    id     = "athena-results"
    status = "Enabled"
    filter {}
    expiration { days = var.athena_results_days }
  }
}

resource "aws_glue_catalog_database" "audit" {
  name = var.database
}

resource "aws_glue_catalog_table" "events" {
  name          = "events"
  database_name = aws_glue_catalog_database.audit.name
  table_type    = "EXTERNAL_TABLE"
  parameters = {
    "EXTERNAL"                    = "TRUE"
    "projection.enabled"          = "true"
    "projection.tenant.type"      = "injected"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.projection_start},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = "s3://${var.bucket}/${local.root}tenant=$${tenant}/dt=$${dt}/"
  }
  partition_keys {
    name = "tenant"
    type = "string"
  }
  partition_keys {
    name = "dt"
    type = "string"
  }
  storage_descriptor {
    location      = "s3://${var.bucket}/${local.root}"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    ser_de_info {
      serialization_library = "org.apache.hive.hcatalog.data.JsonSerDe"
    }
    # Same columns as athena/ddl.ts (ARCHIVE_COLUMNS).
    columns {
      name = "v"
      type = "int"
    }
    columns {
      name = "id"
      type = "string"
    }
    columns {
      name = "seq"
      type = "bigint"
    }
    columns {
      name = "occurred_at"
      type = "string"
    }
    columns {
      name = "received_at"
      type = "string"
    }
    columns {
      name = "action"
      type = "string"
    }
    columns {
      name = "actor"
      type = "struct<type:string,id:string,name:string,email:string>"
    }
    columns {
      name = "target"
      type = "struct<type:string,id:string,name:string,url:string>"
    }
    columns {
      name = "parent"
      type = "struct<type:string,id:string,name:string>"
    }
    columns {
      name = "outcome"
      type = "struct<status:string,code:string,reason:string>"
    }
    columns {
      name = "changes"
      type = "array<struct<field:string,before:string,after:string>>"
    }
    columns {
      name = "context"
      type = "struct<ip:string,user_agent:string,request_id:string,session_id:string,correlation_id:string>"
    }
    columns {
      name = "source"
      type = "string"
    }
    columns {
      name = "description"
      type = "struct<template:string,values:map<string,string>>"
    }
    columns {
      name = "metadata"
      type = "map<string,string>"
    }
    columns {
      name = "ingest"
      type = "struct<key_id:string,request_id:string,colo:string,country:string>"
    }
    columns {
      name = "prev_hash"
      type = "string"
    }
    columns {
      name = "hash"
      type = "string"
    }
    columns {
      name = "retention"
      type = "string"
    }
    columns {
      name = "leaf"
      type = "string"
    }
    columns {
      name = "expired_at"
      type = "string"
    }
  }
}

resource "aws_athena_workgroup" "audit" {
  name = "audit-log"
  configuration {
    enforce_workgroup_configuration = true
    result_configuration {
      output_location = "s3://${aws_s3_bucket.results.bucket}/"
    }
  }
}

# The Worker's mirror credentials: list, read (HEAD), write and delete (compaction, class expiry) the archive
# keys only. Object Lock keeps every version anyway: a delete only adds a delete marker.
resource "aws_iam_policy" "mirror_writer" {
  name = "audit-log-mirror-writer"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = aws_s3_bucket.mirror.arn
        Condition = { StringLike = { "s3:prefix" = ["${local.root}*", "${local.base}checkpoints/*", "${local.base}manifests/*"] } }
      },
      {
        Effect = "Allow"
        # PutObjectRetention and PutObjectTagging: events objects carry their own lock and class tag.
        Action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectRetention", "s3:PutObjectTagging"]
        Resource = [
          "${aws_s3_bucket.mirror.arn}/${local.root}*",
          "${aws_s3_bucket.mirror.arn}/${local.base}checkpoints/*",
          "${aws_s3_bucket.mirror.arn}/${local.base}manifests/*",
        ]
      },
    ]
  })
}

# Analysts: run queries in the workgroup, read the table's metadata and the archive, and read and
# write their own query results.
resource "aws_iam_policy" "analyst" {
  name = "audit-log-analyst"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"]
        Resource = aws_athena_workgroup.audit.arn
      },
      {
        Effect = "Allow"
        Action = ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"]
        Resource = [
          "arn:aws:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:catalog",
          aws_glue_catalog_database.audit.arn,
          aws_glue_catalog_table.events.arn,
        ]
      },
      {
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = aws_s3_bucket.mirror.arn
        Condition = { StringLike = { "s3:prefix" = ["${local.root}*"] } }
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation"]
        Resource = aws_s3_bucket.mirror.arn
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${aws_s3_bucket.mirror.arn}/${local.root}*"
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:AbortMultipartUpload"]
        Resource = [aws_s3_bucket.results.arn, "${aws_s3_bucket.results.arn}/*"]
      },
    ]
  })
}
