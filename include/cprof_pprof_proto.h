/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The field numbers of github.com/google/pprof proto/profile.proto that
 * cprofd writes (daemon/profiles/pprof_wire.c) and reads
 * (common/pprof_reader.c).
 */
#ifndef CPROF_PPROF_PROTO_H
#define CPROF_PPROF_PROTO_H

/* message Profile */
#define PROFILE_SAMPLE_TYPE 1
#define PROFILE_SAMPLE 2
#define PROFILE_MAPPING 3
#define PROFILE_LOCATION 4
#define PROFILE_FUNCTION 5
#define PROFILE_STRING_TABLE 6
#define PROFILE_TIME_NANOS 9
#define PROFILE_DURATION_NANOS 10
#define PROFILE_PERIOD_TYPE 11
#define PROFILE_PERIOD 12
#define PROFILE_COMMENT 13

/* message ValueType */
#define VALUE_TYPE_TYPE 1
#define VALUE_TYPE_UNIT 2

/* message Sample */
#define SAMPLE_LOCATION_ID 1
#define SAMPLE_VALUE 2
#define SAMPLE_LABEL 3

/* message Label */
#define LABEL_KEY 1
#define LABEL_STR 2
#define LABEL_NUM 3
#define LABEL_NUM_UNIT 4

/* message Mapping */
#define MAPPING_ID 1
#define MAPPING_MEMORY_START 2
#define MAPPING_MEMORY_LIMIT 3
#define MAPPING_FILE_OFFSET 4
#define MAPPING_FILENAME 5
#define MAPPING_BUILD_ID 6
#define MAPPING_HAS_FUNCTIONS 7

/* message Location */
#define LOCATION_ID 1
#define LOCATION_MAPPING_ID 2
#define LOCATION_ADDRESS 3
#define LOCATION_LINE 4

/* message Line */
#define LINE_FUNCTION_ID 1
#define LINE_LINE 2

/* message Function */
#define FUNCTION_ID 1
#define FUNCTION_NAME 2
#define FUNCTION_SYSTEM_NAME 3
#define FUNCTION_FILENAME 4

#endif /* CPROF_PPROF_PROTO_H */
