# A policy written the way Rego policies for Terraform plans usually are, not for ctconfig:
# resources are picked by the provider's type (the last part of its source address) and a
# delete is denied unless it is the second half of a create-before-delete replacement.
package terraform.idioms

import rego.v1

provider_type(rc) := split(rc.provider_name, "/")[2]

clevertap_changes contains rc if {
	some rc in input.resource_changes
	rc.mode == "managed"
	provider_type(rc) == "clevertap"
}

deny contains msg if {
	some rc in clevertap_changes
	"delete" in rc.change.actions
	rc.change.actions != ["create", "delete"]
	msg := sprintf("%s: %v", [rc.address, rc.change.actions])
}

declared contains r.address if {
	some r in input.configuration.root_module.resources
	input.configuration.provider_config[r.provider_config_key].full_name == input.resource_changes[0].provider_name
}
