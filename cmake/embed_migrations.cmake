# Writes OUT, a C++ file defining hephy::EmbeddedMigrations() from the .sql FILES.
string(REPLACE "|" ";" FILES "${FILES}")
set(body "")
foreach(f IN LISTS FILES)
  get_filename_component(name ${f} NAME)
  file(READ ${f} sql)
  string(APPEND body "      {\"${name}\", R\"hephy_sql(${sql})hephy_sql\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from migrations/*.sql by cmake/embed_migrations.cmake.
#include \"store/migrations.h\"

namespace hephy {

const std::vector<MigrationSource>& EmbeddedMigrations() {
  static const std::vector<MigrationSource> kMigrations = {
${body}  };
  return kMigrations;
}

}  // namespace hephy
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
