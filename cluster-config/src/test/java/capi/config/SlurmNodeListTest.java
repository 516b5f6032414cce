package capi.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Slurm host lists as `scontrol show hostnames` expands them, and the bad ones. */
class SlurmNodeListTest {
  private static List<String> expand(String list) {
    return SlurmNodeList.expand("SLURM_JOB_NODELIST", list);
  }

  @Test
  void expandsRangesListsAndZeroPadding() {
    assertEquals(List.of("gpu01", "gpu02", "gpu03", "gpu04", "gpu07"), expand("gpu[01-04,07]"));
    assertEquals(List.of("n1-ib", "n2-ib", "login3"), expand("n[1-2]-ib,login3"));
    assertEquals(List.of("node8", "node9", "node10"), expand("node[8-10]"));
    assertEquals(List.of("c008", "c009", "c010"), expand("c[008-010]"));
    assertEquals(List.of("a"), expand("a"));
    assertEquals(List.of("10.1.0.1", "10.1.0.2"), expand("10.1.0.[1-2]"));
  }

  @Test
  void multipliesSeveralBracketGroupsLeftToRight() {
    assertEquals(List.of("r1n1", "r1n2", "r2n1", "r2n2"), expand("r[1-2]n[1-2]"));
    assertEquals(List.of("rack1-gpu01-ib", "rack1-gpu03-ib", "rack2-gpu01-ib", "rack2-gpu03-ib", "x"),
        expand("rack[1-2]-gpu[01,03]-ib,x"));
  }

  @Test
  void keepsTheOrderGiven() {
    assertEquals(List.of("b2", "b1", "a1"), expand("b[2,1],a1"));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "gpu[01-04                  | '[' without ']'",
    "gpu01-04]                  | ']' without '['",
    "gpu[04-01]                 | runs backwards",
    "gpu[a-b]                   | is not a number or a range a-b",
    "gpu[1-2-3]                 | is not a number or a range a-b",
    "gpu[]                      | is not a number or a range a-b",
    "gpu[1,,2]                  | is not a number or a range a-b",
    "a,,b                       | an empty host name",
    "'a,'                       | an empty host name",
    "n[[1-2]]                   | nested '['",
    "' '                        | is empty",
    "n[1-100000000]             | more than 100000 hosts",
  })
  void badListsFailNamingTheVariableAndTheProblem(String list, String problem) {
    BadConfigException e = assertThrows(BadConfigException.class, () -> expand(list));
    assertEquals(true, e.getMessage().startsWith("SLURM_JOB_NODELIST = \"" + list + "\": "), e.getMessage());
    assertEquals(true, e.getMessage().contains(problem), e.getMessage());
    assertEquals(1, e.getMessage().lines().count());
  }
}
