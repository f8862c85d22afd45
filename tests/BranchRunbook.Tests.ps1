# docs/runbooks/Invoke-DaxFsBranchTrial.ps1 without root or a kernel: the branch cmdlets are mocked (Pester's Mock
# intercepts DaxFs's binary cmdlets in the runbook's scope, see RunbookHost.ps1), and a mountinfo file
# (DAXFS_MOUNTINFO) that the mocks keep up to date lets the real Get-DaxFsMount see what they did. Every mocked call, and
# the check itself, is logged in order in $global:TrialCalls. The real run is in tests/Integration/Branches.Tests.ps1.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Trial = Join-Path $RepoRoot 'docs/runbooks/Invoke-DaxFsBranchTrial.ps1'
    $script:SavedEnv = Save-FakeHostEnvironment
    $script:Phys = 0x100000000

    function Add-MountLine([string] $MountPoint, [string] $Branch, [string] $Ro = 'rw') {
        $id = ++$global:TrialNextMountId
        Add-Content $env:DAXFS_MOUNTINFO ("$id 27 0:$id / $MountPoint rw,relatime - daxfs none $Ro,phys=0x{0:x},size=16826368,branch=$Branch" -f $Phys)
    }
    function Set-MountBranch([string] $MountPoint, [string] $Branch) {
        $lines = Get-Content $env:DAXFS_MOUNTINFO | Where-Object { $_ } | ForEach-Object {
            $f = $_ -split ' '
            if ($f[4] -eq $MountPoint) { $_ -replace 'branch=\S+$', "branch=$Branch" } else { $_ }
        }
        Set-Content $env:DAXFS_MOUNTINFO $lines
    }
    function Remove-MountLine([string] $MountPoint) {
        Set-Content $env:DAXFS_MOUNTINFO @(Get-Content $env:DAXFS_MOUNTINFO | Where-Object { $_ -and ($_ -split ' ')[4] -ne $MountPoint })
    }

    # A host with main mounted read-only at mnt/main; the mocks of the branch cmdlets, consistent with the mount table.
    function New-TrialHost {
        $root = New-FakeHostRoot 'h'
        New-Item -ItemType Directory -Force "$root/mnt/main" | Out-Null
        Set-FakeHostEnvironment -MountInfo "$root/mountinfo"
        Set-Content $env:DAXFS_MOUNTINFO '' -NoNewline
        $global:TrialCalls = [Collections.Generic.List[string]]::new()
        $global:TrialNextMountId = 40
        Add-MountLine "$root/mnt/main" '/main' 'ro'
        Mock New-DaxFsBranch {
            $global:TrialCalls.Add("New-DaxFsBranch $Name $Parent $MountPoint")
            if (-not (Test-Path -LiteralPath $MountPoint -PathType Container)) { throw "mount point $MountPoint missing" }
            $parentBranch = (Get-DaxFsMount $Parent).Branch
            Add-MountLine $MountPoint "$parentBranch/$Name"
            Get-DaxFsMount $MountPoint
        }
        Mock Compare-DaxFsBranch {
            $global:TrialCalls.Add("Compare-DaxFsBranch $Image $Branch")
            [DaxFs.DaxFsBranchChange]@{ Path = '/etc/motd'; Change = 'Modified'; Type = 'File'; Branch = $Branch; Parent = 'main'; Details = 'size 8 -> 24' }
        }
        Mock Complete-DaxFsBranch { foreach ($m in $MountPoint) { $global:TrialCalls.Add("Complete-DaxFsBranch $m"); Set-MountBranch $m '/main' } }
        Mock Undo-DaxFsBranch { foreach ($m in $MountPoint) { $global:TrialCalls.Add("Undo-DaxFsBranch $m"); Set-MountBranch $m '/main' } }
        Mock Dismount-DaxFs { foreach ($m in $MountPoint) { $global:TrialCalls.Add("Dismount-DaxFs $m"); Remove-MountLine $m } }
        [pscustomobject]@{ Root = $root; Main = "$root/mnt/main"; Branch = "$root/mnt/trial" }
    }
}

AfterAll {
    Restore-FakeHostEnvironment $SavedEnv
    Remove-Variable -Scope Global -Name TrialCalls, TrialNextMountId -ErrorAction Ignore
}

Describe 'Invoke-DaxFsBranchTrial.ps1' {
    BeforeEach { $script:H = New-TrialHost }

    It 'branches, runs the check on the branch mount, lists the changes, commits, and dismounts, in that order' {
        $r = & $Trial -Parent $H.Main -Name t1 -MountPoint $H.Branch -Check { param($m) $global:TrialCalls.Add("check $m"); 'looks fine' } -Confirm:$false
        $global:TrialCalls | Should -Be @(
            "New-DaxFsBranch t1 $($H.Main) $($H.Branch)"
            "check $($H.Branch)"
            "Compare-DaxFsBranch $($H.Branch) t1"
            "Complete-DaxFsBranch $($H.Branch)"
            "Dismount-DaxFs $($H.Branch)"
        )
        $r.PSTypeNames[0] | Should -Be 'DaxFs.Runbook.BranchTrialReport'
        $r.Status | Should -Be 'Committed'
        $r.Action | Should -Be 'Commit'
        $r.CheckPassed | Should -BeTrue
        $r.CheckOutput | Should -Be 'looks fine'
        $r.BranchPath | Should -Be '/main/t1'
        $r.Changes.Count | Should -Be 1
        $r.Changes[0].Path | Should -Be '/etc/motd'
        $r.Error | Should -BeNullOrEmpty
        Test-Path $H.Branch | Should -BeFalse -Because 'the runbook made the mount point, so it removes it'
        @(Get-DaxFsMount).MountPoint | Should -Be @($H.Main)
    }

    It 'aborts when the check throws, and keeps what it said' {
        $r = & $Trial $H.Main -Name t2 -MountPoint $H.Branch -Check { throw 'selftest: 3 failures' } -Confirm:$false
        $global:TrialCalls | Should -Be @("New-DaxFsBranch t2 $($H.Main) $($H.Branch)", "Compare-DaxFsBranch $($H.Branch) t2", "Undo-DaxFsBranch $($H.Branch)", "Dismount-DaxFs $($H.Branch)")
        $r.Status | Should -Be 'Aborted'
        $r.Action | Should -Be 'Abort'
        $r.CheckPassed | Should -BeFalse
        $r.CheckError | Should -Match 'selftest: 3 failures'
        Should -Invoke Complete-DaxFsBranch -Times 0 -Exactly
    }

    It 'aborts when the check''s last output is $false' {
        $r = & $Trial $H.Main -Name t3 -MountPoint $H.Branch -Check { 'checked'; $false } -Confirm:$false
        $r.Status | Should -Be 'Aborted'
        $r.CheckError | Should -Be 'The check returned $false.'
        Should -Invoke Undo-DaxFsBranch -Times 1 -Exactly
    }

    It 'runs a native command in the branch mount and judges it by its exit status' {
        New-Item -ItemType Directory $H.Branch | Out-Null
        $ok = & $Trial $H.Main -Name t4 -MountPoint $H.Branch -Command sh, -c, 'pwd; echo "$DAXFS_BRANCH_MOUNT"' -Confirm:$false
        $ok.Status | Should -Be 'Committed'
        $ok.CheckOutput | Should -Be @($H.Branch, $H.Branch)
        Test-Path $H.Branch | Should -BeTrue -Because 'a mount point that was there before stays'
        $bad = & $Trial $H.Main -Name t5 -MountPoint $H.Branch -Command sh, -c, 'echo broken >&2; exit 3' -Confirm:$false
        $bad.Status | Should -Be 'Aborted'
        $bad.CheckError | Should -Be "'sh -c echo broken >&2; exit 3' exited with status 3."
        $bad.CheckOutput | Should -Be 'broken'
    }

    It 'takes the parent from the pipeline as a DaxFsMount' {
        $r = Get-DaxFsMount $H.Main | & $Trial -Name t6 -MountPoint $H.Branch -Check { $true } -Confirm:$false
        $r.Parent | Should -Be $H.Main
        $r.Status | Should -Be 'Committed'
    }

    It 'changes nothing under -WhatIf' {
        $r = & $Trial $H.Main -Name t7 -MountPoint $H.Branch -Check { $global:TrialCalls.Add('check') } -WhatIf
        $r | Should -BeNullOrEmpty
        $global:TrialCalls.Count | Should -Be 0
        Test-Path $H.Branch | Should -BeFalse
    }

    It 'reports Failed, runs no check and aborts nothing when the branch cannot be created' {
        Mock New-DaxFsBranch {
            $global:TrialCalls.Add('New-DaxFsBranch')
            Write-Error -Message 'The delta region has 0 bytes left' -ErrorId DeltaRegionFull -Category LimitsExceeded
        }
        $r = & $Trial $H.Main -Name t8 -MountPoint $H.Branch -Check { $global:TrialCalls.Add('check') } -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $global:TrialCalls | Should -Be @('New-DaxFsBranch')
        $r.Status | Should -Be 'Failed'
        $r.Action | Should -Be 'None'
        $r.Error | Should -Match '0 bytes left'
        $err[-1].FullyQualifiedErrorId | Should -Be 'BranchTrialCreateFailed,Invoke-DaxFsBranchTrial.ps1'
        Test-Path $H.Branch | Should -BeFalse
    }

    It 'aborts when the commit is refused, and reports Failed with the reason' {
        Mock Complete-DaxFsBranch { $global:TrialCalls.Add('Complete-DaxFsBranch'); Write-Error -Message 'ENOSPC: a parent log is full' -ErrorId ParentLogFull -Category LimitsExceeded }
        $r = & $Trial $H.Main -Name t9 -MountPoint $H.Branch -Check { $true } -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $global:TrialCalls | Should -Be @("New-DaxFsBranch t9 $($H.Main) $($H.Branch)", "Compare-DaxFsBranch $($H.Branch) t9", 'Complete-DaxFsBranch', "Undo-DaxFsBranch $($H.Branch)", "Dismount-DaxFs $($H.Branch)")
        $r.Status | Should -Be 'Failed'
        $r.Action | Should -Be 'Abort'
        $r.Error | Should -Match 'commit of .t9. failed, so it is aborted instead: ENOSPC'
        $err[-1].FullyQualifiedErrorId | Should -Be 'BranchTrialFailed,Invoke-DaxFsBranchTrial.ps1'
    }

    It 'still commits when the changes cannot be listed, with a warning' {
        Mock Compare-DaxFsBranch { Write-Error -Message 'memory unreadable' -ErrorId PhysicalRangeUnreachable -Category ResourceUnavailable }
        $r = & $Trial $H.Main -Name t10 -MountPoint $H.Branch -Check { $true } -Confirm:$false -WarningVariable w -WarningAction SilentlyContinue
        $r.Status | Should -Be 'Committed'
        $r.Changes.Count | Should -Be 0
        "$w" | Should -Match 'could not be listed: memory unreadable'
    }

    It 'refuses a parent that is not mounted or holds a static image, before anything happens' {
        { & $Trial "$($H.Root)/mnt/nothing" -Check { $true } -Confirm:$false } | Should -Throw "No daxfs mount at*"
        New-Item -ItemType Directory "$($H.Root)/mnt/static" | Out-Null
        Add-Content $env:DAXFS_MOUNTINFO "99 27 0:99 / $($H.Root)/mnt/static ro,relatime - daxfs dax0.0 ro,phys=0x100a00000,size=4096,static"
        { & $Trial "$($H.Root)/mnt/static" -Check { $true } -Confirm:$false } | Should -Throw "*static image*"
        Should -Invoke New-DaxFsBranch -Times 0 -Exactly
    }
}
