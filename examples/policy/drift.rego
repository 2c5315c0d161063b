# Warn about every resource changed outside the tool since the last apply (Terraform's resource_drift).
package ctconfig.policy.drift

import rego.v1

warn contains msg if {
	some rc in input.resource_drift
	rc.mode == "managed"
	msg := sprintf("%s: changed outside the tool (%v); the plan restores the config", [rc.address, rc.change.actions])
}
