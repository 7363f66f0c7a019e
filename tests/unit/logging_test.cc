#include "server/logging.h"

#include <gtest/gtest.h>

namespace consentd {
namespace {

TEST(RedactDatabaseUrl, HidesPasswordsInEveryForm) {
  EXPECT_EQ(RedactDatabaseUrl("postgresql://app:s3cret@db:5432/consentd"),
            "postgresql://app:***@db:5432/consentd");
  EXPECT_EQ(RedactDatabaseUrl("postgresql://app@db/consentd"),
            "postgresql://app@db/consentd");
  EXPECT_EQ(RedactDatabaseUrl("host=db user=app password=s3cret dbname=c"),
            "host=db user=app password=*** dbname=c");
  EXPECT_EQ(RedactDatabaseUrl("host=db password='a b\\'c' dbname=c"),
            "host=db password=*** dbname=c");
  EXPECT_EQ(RedactDatabaseUrl("postgresql://db/c?user=app&password=s3cret&x=1"),
            "postgresql://db/c?user=app&password=***&x=1");
}

}  // namespace
}  // namespace consentd
