# Debian's libsoci-dev ships no CMake config: find the headers and libraries and
# expose the upstream target names SOCI::soci_core, SOCI::soci_sqlite3, SOCI::soci_postgresql.
find_package(SOCI CONFIG QUIET)
if(SOCI_FOUND)
  return()
endif()

find_path(SOCI_INCLUDE_DIR soci/soci.h)
find_library(SOCI_CORE_LIBRARY soci_core)
find_library(SOCI_SQLITE3_LIBRARY soci_sqlite3)
find_library(SOCI_POSTGRESQL_LIBRARY soci_postgresql)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(Boost REQUIRED)  # Debian's soci-config.h includes Boost headers

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(SOCI REQUIRED_VARS SOCI_INCLUDE_DIR SOCI_CORE_LIBRARY
  SOCI_SQLITE3_LIBRARY SOCI_POSTGRESQL_LIBRARY)

if(SOCI_FOUND AND NOT TARGET SOCI::soci_core)
  add_library(SOCI::soci_core UNKNOWN IMPORTED)
  set_target_properties(SOCI::soci_core PROPERTIES IMPORTED_LOCATION "${SOCI_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "Boost::headers;${CMAKE_DL_LIBS}")
  add_library(SOCI::soci_sqlite3 UNKNOWN IMPORTED)
  set_target_properties(SOCI::soci_sqlite3 PROPERTIES IMPORTED_LOCATION "${SOCI_SQLITE3_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "SOCI::soci_core;SQLite::SQLite3")
  add_library(SOCI::soci_postgresql UNKNOWN IMPORTED)
  set_target_properties(SOCI::soci_postgresql PROPERTIES IMPORTED_LOCATION "${SOCI_POSTGRESQL_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "SOCI::soci_core;PostgreSQL::PostgreSQL")
endif()
