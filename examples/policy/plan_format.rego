# Deny input that is not a plan in Terraform's JSON representation, major version 1.
package ctconfig.policy.plan_format

import rego.v1

deny contains msg if {
	not supported
	msg := "format_version is not a 1.x plan representation (a string such as 1.2); re-create the plan JSON"
}

supported if startswith(input.format_version, "1.")
