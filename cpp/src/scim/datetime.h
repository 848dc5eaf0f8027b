// RFC 3339 / xsd:dateTime handling shared by validation and filtering. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>

namespace scimitar::scim {

// The instant `text` names, as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, so text order is time order);
// nullopt when `text` is not a full date-time with an optional fraction and zone.
std::optional<std::string> NormalizeDateTime(const std::string& text);

}  // namespace scimitar::scim
