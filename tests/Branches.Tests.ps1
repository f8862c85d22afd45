# Get-DaxFsBranch over an image whose branches the real kernel made (tests/fixtures/branches/README.md).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Fixture = Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs'
}

Describe 'Get-DaxFsBranch' {
    It 'lists every branch record with its parent, state and log use' {
        $b = Get-DaxFsBranch $script:Fixture
        $b | Should -HaveCount 2
        $b[0] | Should -BeOfType DaxFs.DaxFsBranch
        $b.Name | Should -Be 'main', 'feature'
        ($b | Where-Object Name -eq 'feature').Parent | Should -Be 'main'
        $b.State | Should -Be 'Active', 'Active'
        ($b | Where-Object Name -eq 'feature').EntryCount | Should -Be 10
        ($b | Where-Object Name -eq 'main').LogUsed | Should -Be 0
        $b | ForEach-Object { $_.LogCapacity | Should -Be 1MB }
    }

    It 'takes images from the pipeline and filters by name' {
        (Get-Item $script:Fixture | Get-DaxFsBranch -Name 'feat*').Name | Should -Be 'feature'
        (Get-DaxFsImage $script:Fixture | Get-DaxFsBranch).Count | Should -Be 2
    }

    It 'lists the delta log as typed entries with paths' {
        $log = Get-DaxFsBranch $script:Fixture -Name feature -Log
        $log[0] | Should -BeOfType DaxFs.DaxFsDeltaLogEntry
        $log.Kind | Should -Be Create, Write, Mkdir, Symlink, Delete, Rename, SetAttr, Create, Write, Truncate
        $log[0].Path | Should -Be '/new.txt'
        $log[1].Length | Should -Be 13
        $log[3].Target | Should -Be '../new.txt'
        $log[3].Path | Should -Be '/newdir/ln'
        $log[4].Name | Should -Be 'old.txt'
        $log[4].Path | Should -Be '/data/old.txt'
        $log[5].Name, $log[5].NewName | Should -Be 'keep.txt', 'kept.txt'
        $log[6].Changed | Should -Be 'Mode'
        [Convert]::ToString([int]$log[6].Mode, 8) | Should -Be '100600'
        $log[9].NewSize | Should -Be 1
        ($log | Sort-Object Time).Kind | Should -Be $log.Kind
    }

    It 'reports a branch name that matches nothing' {
        Get-DaxFsBranch $script:Fixture -Name nope -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'BranchNotFound,*'
        $e[0].Exception.Message | Should -Match 'main, feature'
    }

    It 'finds no branches in a static image' {
        Get-DaxFsBranch (Join-Path $script:Vectors 'basic.static.daxfs') | Should -BeNullOrEmpty
    }

    It 'passes validation of its branch table and logs' {
        Test-DaxFsImage $script:Fixture -Detailed | Where-Object { $_.RuleId -like 'BRANCH*' -or $_.RuleId -like 'DELTA*' } | Should -BeNullOrEmpty
    }
}
