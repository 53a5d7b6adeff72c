# Functional tests of the web component; KUBECONFIG points at the cluster under test.
# bats file_tags=web

@test "web deployment is available" {
  available="$(kubectl get deployment web -n web -o jsonpath='{.status.availableReplicas}')"
  [ "${available:-0}" -ge 1 ]
}

@test "web service exists" {
  kubectl get service web -n web -o name
}

@test "web reports healthy" {
  healthy="$(kubectl get configmap web-config -n web -o jsonpath='{.data.healthy}')"
  [ "$healthy" = "true" ]
}
