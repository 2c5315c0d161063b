# Deny a plan that creates more resources than one reviewed change should.
#
# Written the usual way for `terraform show -json` plans; replacements
# (["create", "delete"], ["delete", "create"]) are not counted as creates.
package ctconfig.policy.cap_creates

import rego.v1

# Override with data.ctconfig.params.max_creates.
default max_creates := 10

max_creates := data.ctconfig.params.max_creates

creates := [rc.address |
	some rc in input.resource_changes
	rc.mode == "managed"
	rc.change.actions == ["create"]
]

deny contains msg if {
	count(creates) > max_creates
	msg := sprintf(
		"the plan creates %d resources; at most %d may be created in one change: %v",
		[count(creates), max_creates, creates],
	)
}
