// Translates a SCIM filter AST into a SQL boolean expression over the `resources r` table: indexed
// projection columns where they exist (id, userName/displayName folded, externalId, active, meta dates,
// memberships), JSON functions over r.doc for every other attribute. The whole filter is pushed down;
// nothing is evaluated in memory. Pure functions; thread-safe.
#pragma once

#include "scim/filter.h"
#include "scim/schema.h"
#include "store/sql.h"

namespace scimitar::store {

// Throws ScimError 400 invalidFilter for attributes or operators that do not apply.
SqlFragment TranslateFilter(const scim::FilterNode& filter, const scim::ResourceTypeDef& type, Backend backend);

// ORDER BY expression (without direction) for sortBy; throws ScimError 400 invalidValue when unknown.
SqlFragment SortExpression(const scim::AttrPath& path, const scim::ResourceTypeDef& type, Backend backend);

// Timestamps are stored as "YYYY-MM-DDTHH:MM:SS.mmmZ" so that text order is time order.
std::string NormalizeTimestamp(const std::string& text);  // throws invalidFilter when unparsable

}  // namespace scimitar::store
