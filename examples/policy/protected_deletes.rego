# Deny a plan that deletes a resource whose name is protected.
#
# Written the usual way for `terraform show -json` plans: it reads only
# Terraform's keys (mode, name, change.actions, action_reason), so it runs
# unchanged on a Terraform plan and on `ctconfig plan --format json`.
package ctconfig.policy.protected_deletes

import rego.v1

# Globs over resource names (a passcode's name, a user's email); `*` crosses any character.
# Override with data.ctconfig.params.protected_names.
default protected_names := ["segment-export", "*-prod", "prod-*"]

protected_names := data.ctconfig.params.protected_names

deny contains msg if {
	some rc in input.resource_changes
	rc.mode == "managed"
	"delete" in rc.change.actions
	not created_before_deleted(rc)
	not rotated_out(rc)
	some pattern in protected_names
	glob.match(pattern, null, rc.name)
	msg := sprintf(
		"%s: %v would delete '%s', a protected name (%s)",
		[rc.address, rc.change.actions, rc.name, pattern],
	)
}

# A create-before-delete replacement (a passcode rotation) keeps a live credential under the name.
created_before_deleted(rc) if rc.change.actions == ["create", "delete"]

# ctconfig's own reason: the set-aside predecessor of a rotated passcode, deleted when its overlap ends.
rotated_out(rc) if rc.action_reason == "delete_because_rotated_out"
