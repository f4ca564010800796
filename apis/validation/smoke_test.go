package validation

import "testing"

func TestValidObjectsPass(t *testing.T) {
	checkErrs(t, ValidateCreate(validPod()), nil)
	checkErrs(t, ValidateCreate(validDeployment()), nil)
	checkErrs(t, ValidateCreate(validReplicaSet()), nil)
	checkErrs(t, ValidateCreate(validService()), nil)
}
