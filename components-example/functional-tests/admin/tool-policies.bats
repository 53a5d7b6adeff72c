# bats file_tags=tool-policies

@test "every tool namespace has its policy" {
  count="$(kubectl get policies.kyverno.io -A -l applyset.kubernetes.io/part-of -o name | wc -l)"
  [ "$count" -ge 1 ]
}
