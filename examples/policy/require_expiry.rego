# Deny creating or changing a passcode that never expires, or lives longer than allowed.
#
# Reads ctconfig's resource types (account_passcode: expires_in "90d" | "forever";
# user_passcode: validity "30d" | "infinite") from Terraform's resource_changes.
# Resources the plan leaves alone (["no-op"]) are not judged: they were reviewed before.
package ctconfig.policy.require_expiry

import rego.v1

# The longest expiry allowed, in days. Override with data.ctconfig.params.max_expiry_days.
default max_expiry_days := 365

max_expiry_days := data.ctconfig.params.max_expiry_days

deny contains msg if {
	some rc in changed("account_passcode")
	rc.change.after.expires_in == "forever"
	msg := sprintf("%s: account passcodes must expire (expires_in is forever)", [rc.address])
}

deny contains msg if {
	some rc in changed("user_passcode")
	rc.change.after.validity == "infinite"
	msg := sprintf("%s: user passcodes must have a finite validity (it is infinite)", [rc.address])
}

deny contains msg if {
	some rc in changed("account_passcode")
	days := day_count(rc.change.after.expires_in)
	days > max_expiry_days
	msg := sprintf("%s: expires_in is %d days; at most %d are allowed", [rc.address, days, max_expiry_days])
}

deny contains msg if {
	some rc in changed("user_passcode")
	days := day_count(rc.change.after.validity)
	days > max_expiry_days
	msg := sprintf("%s: validity is %d days; at most %d are allowed", [rc.address, days, max_expiry_days])
}

# Managed resources of one type that this plan creates or changes.
changed(type) := {rc |
	some rc in input.resource_changes
	rc.mode == "managed"
	rc.type == type
	some action in rc.change.actions
	action in {"create", "update"}
}

# "90d" -> 90; undefined for "forever" and "infinite".
day_count(text) := to_number(trim_suffix(text, "d")) if regex.match(`^[0-9]+d$`, text)
