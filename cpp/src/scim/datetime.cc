#include "scim/datetime.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>

#include <regex>

namespace scimitar::scim {

std::optional<std::string> NormalizeDateTime(const std::string& text) {
  // Poco's parser is lenient (it accepts words), so the shape is checked first.
  static const std::regex shape(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|z|[+-]\d{2}:\d{2})?)");
  if (!std::regex_match(text, shape)) return std::nullopt;
  int tzd = 0;
  Poco::DateTime dt;
  if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, text, dt, tzd)) return std::nullopt;
  dt.makeUTC(tzd);
  return Poco::DateTimeFormatter::format(dt, "%Y-%m-%dT%H:%M:%S.%iZ");
}

}  // namespace scimitar::scim
