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

Describe 'The replay of a branch (-Branch)' {
    BeforeAll {
        $script:Nested = Join-Path $PSScriptRoot 'fixtures/branches/nested.daxfs'
        # The guest's find -printf '%p %y %m %s %l' (feature.guest-listing.txt) as Get-DaxFsItem objects show it.
        function script:ConvertTo-FindLine($i, [switch] $Owner) {
            $y = switch ($i.Type) { 'File' { 'f' } 'Directory' { 'd' } 'SymbolicLink' { 'l' } default { 'U' } }
            $p = if ($i.FullName -eq '/') { '.' } else { '.' + $i.FullName }
            $o = if ($Owner) { ' {0} {1}' -f $i.Uid, $i.Gid } else { '' }
            $n = if ($Owner) { " $($i.LinkCount)" } else { '' }
            ('{0} {1} {2}{3} {4}{5} {6}' -f $p, $y, [Convert]::ToString([int]$i.Permissions, 8), $o, $i.Size, $n, $i.Target).TrimEnd()
        }
        function script:Get-BranchListing($Image, $Branch, [switch] $Owner) {
            $items = @(Get-DaxFsItem $Image -Path / -Recurse -Branch $Branch -WarningAction SilentlyContinue)
            [string[]] $lines = @($items | ForEach-Object { ConvertTo-FindLine $_ -Owner:$Owner })
            [Array]::Sort($lines, [StringComparer]::Ordinal)
            $lines
        }
        function script:Get-GuestListing($File, [switch] $Owner) {
            [string[]] $lines = Get-Content (Join-Path $PSScriptRoot "fixtures/branches/$File") | Where-Object { $_ -notmatch '^\. ' } | ForEach-Object { $_.TrimEnd() }
            [Array]::Sort($lines, [StringComparer]::Ordinal)
            $lines
        }
    }

    It 'Get-DaxFsItem -Branch feature -Recurse equals what the guest listed through the feature mount' {
        $items = Get-DaxFsItem $script:Fixture -Branch feature -Recurse
        $items | ForEach-Object { $_.Branch | Should -Be 'feature' }
        Get-BranchListing $script:Fixture feature | Should -Be (Get-GuestListing feature.guest-listing.txt)
        # the kernel's oddity: the rename of keep.txt to kept.txt is logged but not shown
        $items.FullName | Should -Contain '/data/keep.txt'
        $items.FullName | Should -Not -Contain '/data/kept.txt'
        $items.FullName | Should -Not -Contain '/data/old.txt'
        (Get-DaxFsItem $script:Fixture -Path /newdir/ln -Branch feature).Target | Should -Be '../new.txt'
    }

    It 'shows the base image without -Branch and main as the base when main has no changes' {
        (Get-DaxFsItem $script:Fixture -Recurse).FullName | Should -Contain '/data/old.txt'
        (Get-DaxFsItem $script:Fixture -Recurse).FullName | Should -Not -Contain '/new.txt'
        (Get-DaxFsItem $script:Fixture -Recurse -Branch main).FullName | Should -Be (Get-DaxFsItem $script:Fixture -Recurse).FullName
    }

    It 'Get-DaxFsContent -Branch reads what was written in the branch' {
        Get-DaxFsContent $script:Fixture -Path /new.txt -Branch feature | Should -Be 'hello branch'
        Get-DaxFsContent $script:Fixture -Path /data/w.bin -Branch feature -Raw | Should -Be 'a'        # printf abc; truncate -s 1
        Get-DaxFsContent $script:Fixture -Path /newdir/ln -Branch feature | Should -Be 'hello branch'   # through the branch's symlink
        Get-DaxFsContent $script:Fixture -Path /data/keep.txt -Branch feature | Should -Be 'keep'
        Get-DaxFsContent $script:Fixture -Path /new.txt -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ItemNotFoundInImage,*'
        # items carry their branch down the pipeline
        Get-DaxFsItem $script:Fixture -Path /new.txt -Branch feature | Get-DaxFsContent | Should -Be 'hello branch'
    }

    It 'matches the fresh mounts of a nested chain: <Branch>' -TestCases @(
        @{ Branch = 'main' }, @{ Branch = 'feature' }, @{ Branch = 'deep' }
    ) {
        param($Branch)
        Get-BranchListing $script:Nested $Branch -Owner | Should -Be (Get-GuestListing "nested.$Branch.guest-listing.txt" -Owner)
        $warnings = $null
        Get-DaxFsItem $script:Nested -Branch $Branch -Recurse -WarningVariable warnings -WarningAction SilentlyContinue | Out-Null
        [string[]] $missing = Get-Content (Join-Path $PSScriptRoot "fixtures/branches/nested.$Branch.guest-errors.txt") |
            ForEach-Object { if ($_ -match '\./([^\s:]+?)\W*: No such file') { '/' + $Matches[1] } }
        @($warnings | ForEach-Object { ([string]$_ -split "'")[1] }) | Sort-Object | Should -Be ($missing | Sort-Object)
        foreach ($line in Get-Content (Join-Path $PSScriptRoot "fixtures/branches/nested.$Branch.guest-content.txt")) {
            $path, $count, $b64 = $line -split ' '
            # find -type f takes the type from readdir, so it also names files that cannot be opened (cat reads nothing)
            $item = Get-DaxFsItem $script:Nested -Path $path.Substring(1) -Branch $Branch -ErrorAction SilentlyContinue
            [byte[]] $bytes = @()
            if ($item -and $item.Type -eq 'File') { $bytes = Get-DaxFsContent $script:Nested -Path $path.Substring(1) -Branch $Branch -AsByteStream }
            $bytes.Length | Should -Be ([int]$count) -Because "$Branch $path"
            [Convert]::ToBase64String($bytes) | Should -Be "$b64" -Because "$Branch $path"
        }
    }

    It 'shows the kernel''s oddities in the nested chain' {
        # a write in the middle of a base file cuts it there and is not seen from offset 0
        (Get-DaxFsItem $script:Nested -Path /data/keep.txt -Branch feature).Size | Should -Be 4
        Get-DaxFsContent $script:Nested -Path /data/keep.txt -Branch feature -Raw | Should -Be 'keep'
        # an O_APPEND write lands at offset 0
        Get-DaxFsContent $script:Nested -Path /data/app.txt -Branch feature | Should -Be 'more'
        # a file extended by truncate reads up to its hole
        (Get-DaxFsItem $script:Nested -Path /t.bin -Branch feature).Size | Should -Be 10
        Get-DaxFsContent $script:Nested -Path /t.bin -Branch feature -Raw | Should -Be 'abc'
        # a directory made in a branch: size 0, one link
        $nd = Get-DaxFsItem $script:Nested -Branch feature -WarningAction SilentlyContinue | Where-Object Name -eq 'nd'
        $nd.Size, $nd.LinkCount | Should -Be 0, 1
        # a write in a child to a file its parent made: mode 0, unreadable
        $f1 = Get-DaxFsItem $script:Nested -Path /f1.txt -Branch deep
        $f1.Type, $f1.UnixMode | Should -Be 'Unknown', 0
        Get-DaxFsContent $script:Nested -Path /f1.txt -Branch deep -ErrorAction SilentlyContinue -ErrorVariable e
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ItemNotAFile,*'
        # chmod of a directory is not logged
        (Get-DaxFsItem $script:Nested -Path /sub -Branch deep).Permissions | Should -Be 0x1ED
    }

    It 'Export-DaxFsItem -Branch extracts the branch''s view' {
        $dest = Join-Path $TestDrive 'feature'
        Export-DaxFsItem $script:Fixture -Branch feature -Destination $dest
        Get-Content -Raw (Join-Path $dest 'new.txt') | Should -Be "hello branch`n"
        (Get-Item (Join-Path $dest 'newdir/ln')).LinkTarget | Should -Be '../new.txt'
        Test-Path (Join-Path $dest 'data/old.txt') | Should -BeFalse
        [Convert]::ToString([int](Get-Item (Join-Path $dest 'etc/hostname')).UnixFileMode, 8) | Should -Be '600'
        $dest2 = Join-Path $TestDrive 'deep'
        Export-DaxFsItem $script:Nested -Branch feature -Destination $dest2 -WarningVariable w -WarningAction SilentlyContinue
        @($w).Count | Should -Be 3   # emptydir, tmp.txt, r1.txt: listed but not openable, nothing written
        Test-Path (Join-Path $dest2 'emptydir') | Should -BeFalse
        Get-Content -Raw (Join-Path $dest2 't.bin') | Should -Be 'abc'
        Get-DaxFsItem $script:Fixture -Path /newdir -Branch feature | Export-DaxFsItem -Destination (Join-Path $TestDrive 'one') -PassThru |
            Select-Object -ExpandProperty ImagePath | Should -Be '/newdir/ln'
    }

    It 'reports a branch that does not exist, and a static image' {
        Get-DaxFsItem $script:Fixture -Branch nope -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'BranchNotFound,*'
        $e[0].Exception.Message | Should -Match 'main, feature'
        Get-DaxFsContent (Join-Path $script:Vectors 'basic.static.daxfs') -Path /one -Branch main -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'BranchNotFound,*'
    }

    It 'stops on a corrupt log with a rule id' {
        $bad = Join-Path $TestDrive 'bad.daxfs'
        Copy-Item $script:Fixture $bad
        $b = Get-DaxFsBranch $bad -Name feature
        $fs = [IO.File]::OpenWrite($bad)
        try { $fs.Position = $b.LogOffset + 4; $fs.Write([byte[]](7, 0, 0, 0), 0, 4) } finally { $fs.Dispose() }   # total_size 7 < header
        { Get-DaxFsItem $bad -Branch feature -Recurse -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDaxFsImage.DELTA-ENTRY,*'
    }

    It 'completes -Branch with the image''s branch names' {
        $r = TabExpansion2 -inputScript "Get-DaxFsItem '$script:Nested' -Branch d" -cursorColumn ("Get-DaxFsItem '$script:Nested' -Branch d").Length
        $r.CompletionMatches.CompletionText | Should -Be 'deep'
        $r = TabExpansion2 -inputScript "Get-DaxFsItem '$script:Fixture' -Branch feature -Path /new" -cursorColumn ("Get-DaxFsItem '$script:Fixture' -Branch feature -Path /new").Length
        $r.CompletionMatches.CompletionText | Should -Be '/new.txt', '/newdir/'
    }
}

Describe 'Compare-DaxFsBranch' {
    It 'lists what feature changed against main, as the kernel shows both' {
        $c = Compare-DaxFsBranch $script:Fixture -Branch feature
        $c[0] | Should -BeOfType DaxFs.DaxFsBranchChange
        ($c | ForEach-Object { '{0} {1}' -f $_.Change, $_.Path }) | Should -Be @(
            'Removed /data/old.txt', 'Added /data/w.bin', 'Attributes /etc/hostname', 'Added /new.txt', 'Added /newdir', 'Added /newdir/ln')
        ($c | Where-Object Path -eq '/etc/hostname').Details | Should -Be 'mode -rw-r--r-- → -rw-------'
        ($c | Where-Object Path -eq '/newdir/ln').After.Target | Should -Be '../new.txt'
        ($c | Where-Object Path -eq '/data/old.txt').Before.Size | Should -Be 4
        $c | ForEach-Object { $_.Parent | Should -Be 'main' }
    }

    It 'compares each level of a chain with its parent and main with the base image' {
        $m = Compare-DaxFsBranch $script:Nested main
        $m.Path | Should -Be '/data/mid.txt', '/early.txt', '/edir', '/edir/x.txt'
        ($m | Where-Object Path -eq '/data/mid.txt').Details | Should -Be 'size 11 → 2; content differs'
        $m[0].Parent | Should -BeNullOrEmpty
        $d = Compare-DaxFsBranch $script:Nested deep -Change Removed, Added
        ($d | ForEach-Object { '{0} {1}' -f $_.Change, $_.Path }) | Should -Be 'Removed /data/app.txt', 'Added /ddir', 'Added /dfile.txt', 'Removed /nd/ln'
        (Compare-DaxFsBranch $script:Nested deep | Where-Object Path -eq '/nd/sub/in.txt').Details | Should -Be 'size 3 → 0; content differs; mode -rw-r--r-- → -rw-r-----'
    }

    It 'formats as a table grouped by branch' {
        $text = Compare-DaxFsBranch $script:Fixture feature | Out-String -Width 120
        $text | Should -Match 'Branch: feature against main'
        $text | Should -Match 'Attributes\s+File\s+/etc/hostname\s+mode'
    }

    It 'takes images from the pipeline and reports a missing branch' {
        (Get-Item $script:Fixture | Compare-DaxFsBranch -Branch feature).Count | Should -Be 6
        Compare-DaxFsBranch $script:Fixture -Branch nope -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'BranchNotFound,*'
    }
}
