#include "bft/core/driver.h"

#include "codec/check.h"

namespace bastion::bft {

void Driver::run() {
  if (check_invariants_) replica_.check_invariants();
  Output out = replica_.take_output();
  while (out.capture && env_.answer_capture(*out.capture)) {
    // Execution resumes: what it produces goes out with the rest, as one output.
    if (check_invariants_) replica_.check_invariants();
    out.append(replica_.take_output());
  }
  records_taken_ += out.persist.size();
  switch (env_.append(out.persist, out.sync, records_taken_)) {
    case DriverEnv::Appended::kDurable:
      // Synced on the spot: the sends that waited for these records leave with the others.
      replica_.on_durable(records_taken_);
      {
        Output released = replica_.take_output();
        BASTION_CHECK(released.persist.empty());  // on_durable() only releases sends
        out.append(std::move(released));
      }
      break;
    case DriverEnv::Appended::kLater:
      break;
    case DriverEnv::Appended::kStopped:
      return;
  }
  env_.carry_out(out);
}

}  // namespace bastion::bft
