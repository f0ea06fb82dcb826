// Ids are version 7 UUIDs: ordered by their millisecond, and, within one process, by when
// they were made inside a millisecond too, so that what is listed by id comes in the order
// it happened (the audit trail, executions queued in the same millisecond).
#include "core/ids.h"

#include <gtest/gtest.h>

namespace cronkit {
namespace {

TEST(Ids, AreOrderedByTimeAndWithinAMillisecondByCreation) {
  std::string previous = new_id(1000);
  for (int i = 0; i < 3000; ++i) {
    std::string id = new_id(1000);
    ASSERT_LT(previous, id) << "id " << i << " within one millisecond";
    ASSERT_TRUE(looks_like_id(id)) << id;
    EXPECT_EQ(id[14], '7') << "version 7";
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << "RFC 9562 variant";
    previous = std::move(id);
  }
  EXPECT_LT(previous, new_id(1001));
  EXPECT_LT(new_id(999), id_floor(1000));
  EXPECT_GE(new_id(1000), id_floor(1000));
}

}  // namespace
}  // namespace cronkit
