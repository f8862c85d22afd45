# Compare-DaxFsImage: two images, or an image and a directory.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'
    function New-Tree([string] $Name) {
        $t = Join-Path $TestDrive $Name
        New-Item -ItemType Directory "$t/etc", "$t/data" -Force | Out-Null
        Set-Content -LiteralPath "$t/etc/hostname" -Value 'host1' -NoNewline
        Set-Content -LiteralPath "$t/data/keep.txt" -Value 'keep' -NoNewline
        Set-Content -LiteralPath "$t/data/old.txt" -Value 'old' -NoNewline
        New-Item -ItemType SymbolicLink -Path "$t/current" -Target 'data/keep.txt' | Out-Null
        $t
    }
}

Describe 'Compare-DaxFsImage' {
    It 'finds nothing between an image and itself, or its branching twin' {
        Compare-DaxFsImage $Basic $Basic | Should -BeNullOrEmpty
        Compare-DaxFsImage $Basic (Join-Path $Vectors 'basic.branching.daxfs') | Should -BeNullOrEmpty
    }
    It 'finds nothing between the format-5 and the format-8 image of the tree <_>' -ForEach 'basic', 'big', 'deep', 'wide', 'empty' {
        $v5 = Join-Path $Vectors "$_.static.daxfs"
        Compare-DaxFsImage $v5 (Join-Path $Vectors "v8/$_.v8.static.daxfs") | Should -BeNullOrEmpty
        # The split image keeps its file bytes in its backing file: content is compared from there.
        $split = Join-Path $Vectors "v8/$_.v8.split.daxfs"
        $backing = Join-Path $Vectors "v8/$_.v8.split.backing"
        if (Test-Path $backing) { Compare-DaxFsImage $v5 (Get-DaxFsImage $split -BackingFile $backing) | Should -BeNullOrEmpty }
        else { Compare-DaxFsImage $v5 $split -SkipContent | Should -BeNullOrEmpty } # the empty tree has no file, so no backing file
    }
    It 'compares a format-8 image built here with its tree and with its format-5 twin' {
        $t = New-Tree 'v8tree'
        $v5 = New-DaxFsImage -Path $t -Destination (Join-Path $TestDrive 'twin5.daxfs')
        $v8 = New-DaxFsImage -Path $t -Destination (Join-Path $TestDrive 'twin8.daxfs') -Format 8
        Compare-DaxFsImage $v8 $t | Should -BeNullOrEmpty
        Compare-DaxFsImage $v5 $v8 | Should -BeNullOrEmpty
        Set-Content -LiteralPath "$t/etc/hostname" -Value 'hostX' -NoNewline
        $v8b = New-DaxFsImage -Path $t -Destination (Join-Path $TestDrive 'twin8b.daxfs') -Format 8
        $d = @(Compare-DaxFsImage $v5 $v8b)
        $d.Path | Should -Be '/etc/hostname'
        $d.Properties | Should -Be 'Content'
    }
    It 'names what was added, removed and modified between two builds' {
        $t = New-Tree 'tree'
        $before = New-DaxFsImage -Path $t -Destination (Join-Path $TestDrive 'before.daxfs')
        Set-Content -LiteralPath "$t/etc/hostname" -Value 'host2' -NoNewline                       # same size, other bytes
        Set-Content -LiteralPath "$t/data/keep.txt" -Value 'kept!' -NoNewline                       # other size
        Remove-Item "$t/data/old.txt"
        Set-Content -LiteralPath "$t/data/new.txt" -Value 'new' -NoNewline
        chmod 0600 "$t/etc/hostname"
        Remove-Item "$t/current"; New-Item -ItemType SymbolicLink -Path "$t/current" -Target 'data/new.txt' | Out-Null
        $after = New-DaxFsImage -Path $t -Destination (Join-Path $TestDrive 'after.daxfs')
        $d = @(Compare-DaxFsImage $before $after)
        $d | Should -BeOfType DaxFs.DaxFsImageDifference
        ($d | ForEach-Object { "$($_.SideIndicator) $($_.Change) $($_.Path) $($_.Properties)" }) | Should -Be @(
            '<> Modified /current Target'
            '<> Modified /data/keep.txt Size, Content'
            '=> Added /data/new.txt None'
            '<= Removed /data/old.txt None'
            '<> Modified /etc/hostname Mode, Content'
        ) -Because 'differences come in path order'
        $host1 = $d | Where-Object Path -eq '/etc/hostname'
        $host1.ReferenceMode | Should -Be '-rw-r--r--'
        $host1.DifferenceMode | Should -Be '-rw-------'
        $host1.ReferenceSha256 | Should -Be ([Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::ASCII.GetBytes('host1'))).ToLowerInvariant())
        ($d | Where-Object Path -eq '/current').DifferenceTarget | Should -Be 'data/new.txt'
        $d[0].ReferencePath | Should -Be $before.Path
        $d[0].DifferencePath | Should -Be $after.Path
    }
    It 'compares an image with a directory' {
        $t = New-Tree 'dirtree'
        $img = New-DaxFsImage -Path $t -Destination (Join-Path $TestDrive 'dir.daxfs')
        Compare-DaxFsImage $img $t | Should -BeNullOrEmpty
        Set-Content -LiteralPath "$t/data/keep.txt" -Value 'KEEP' -NoNewline
        (Compare-DaxFsImage $img $t).Path | Should -Be '/data/keep.txt'
        (Compare-DaxFsImage $t $img).Properties | Should -Be 'Content'
    }
    It 'leaves owners out with -IgnoreOwner and content with -SkipContent' {
        $t = New-Tree 'owners'
        $img = New-DaxFsImage -Path $t -Destination (Join-Path $TestDrive 'owners.daxfs') -Owner Root -Uid 4321 -Gid 4321 -ErrorAction SilentlyContinue
        if (-not $img) { $img = New-DaxFsImage -Path $t -Destination (Join-Path $TestDrive 'owners2.daxfs') -Uid 4321 -Gid 4321 }
        @(Compare-DaxFsImage $img $t).Count | Should -BeGreaterThan 0
        Compare-DaxFsImage $img $t -IgnoreOwner | Should -BeNullOrEmpty
        Set-Content -LiteralPath "$t/data/keep.txt" -Value 'KEEP' -NoNewline
        Compare-DaxFsImage $img $t -IgnoreOwner -SkipContent | Should -BeNullOrEmpty
    }
    It 'compares every piped image with the reference, and a bad one does not stop the others' {
        $bad = Join-Path $TestDrive 'bad.daxfs'
        Set-Content $bad 'not an image'
        $d = @(Get-Item (Join-Path $Vectors 'deep.static.daxfs'), $bad, (Join-Path $Vectors 'basic.branching.daxfs') |
            Compare-DaxFsImage -ReferenceImage $Basic -ErrorVariable errs -ErrorAction SilentlyContinue)
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDaxFsImage.*,DaxFs.Commands.CompareDaxFsImageCommand'
        ($d.DifferencePath | Sort-Object -Unique) | Should -Be (Join-Path $Vectors 'deep.static.daxfs')
    }
    It 'stops when the reference cannot be read' {
        { Compare-DaxFsImage (Join-Path $TestDrive 'nosuch.daxfs') $Basic -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,DaxFs.Commands.CompareDaxFsImageCommand'
    }
    It 'says what it compared with -Verbose' {
        $v = Compare-DaxFsImage $Basic $Basic -Verbose 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        "$v" | Should -Match '\(19 entries\).*0 differences; 11 pairs of files hashed'
    }
    It 'shows change, type, what differs and the path in its table' {
        $damaged = Join-Path $TestDrive 'damaged.daxfs'
        $bytes = [IO.File]::ReadAllBytes($Basic); [Array]::Clear($bytes, 0x2000 + 17 * 64, 64); [IO.File]::WriteAllBytes($damaged, $bytes)
        Compare-DaxFsImage $Basic $damaged | Out-String -Width 80 | Should -Match 'Modified\s+Unknown\s+Type\s+/a/five000'
    }
}
